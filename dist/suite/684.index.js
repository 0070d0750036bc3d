const h=684,v=[684],y={1684:((o,a,t)=>{t.a(o,async(x,n)=>{try{t.r(a);var d=t(6421),s=t(3639);await(0,s.a2)(d),n()}catch(c){n(c)}},1)})};export{h as id,v as ids,y as modules};
