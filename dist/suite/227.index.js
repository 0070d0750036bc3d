const h=227,v=[227],y={227:((o,d,t)=>{t.a(o,async(x,n)=>{try{t.r(d);var s=t(6421),a=t(3639);await(0,a.eF)(s),n()}catch(c){n(c)}},1)})};export{h as id,v as ids,y as modules};
